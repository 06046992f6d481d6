# Sourced by the launch scripts: how their dry runs print a command.

quoted() {  # the words as a shell reads them back, plain where they need no quotes
  local word out=()
  for word; do
    if [[ $word =~ ^[[:alnum:]_./:=@%+,-]+$ ]]; then out+=("$word"); else out+=("${word@Q}"); fi
  done
  echo "${out[*]}"
}
