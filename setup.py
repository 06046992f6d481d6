"""cvision: compressed vision in JAX/Flax. Install with `pip install -r requirements.txt -e .`."""
import setuptools

setuptools.setup(
    name='cvision',
    version='0.1.0',
    description='Neural video codecs and video networks trained directly on their codes.',
    packages=setuptools.find_packages(include=['cvision', 'cvision.*']),
    python_requires='>=3.11',
    install_requires=[line.split('#')[0].strip() for line in open('requirements.txt')
                      if line.split('#')[0].strip()],
)
