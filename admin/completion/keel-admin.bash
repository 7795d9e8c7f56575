# bash completion for keel-admin: commands, subcommands, flags and the
# fixed values of --format, --to and --offset. Installed as
# share/bash-completion/completions/keel-admin; by hand:
#   source admin/completion/keel-admin.bash
# The flag lists are those of 'keel-admin <command> <subcommand> --help'
# (tests/integration/admin_cli_test.py checks that they agree).

_keel_admin_flags() {
  local common="-b --brokers -X --property --format --timeout -h --help"
  case "$1" in
    "topic create") echo "-p --partitions -r --replicas -c --config $common" ;;
    "topic list" | "topic describe" | "topic delete" | "group list" | "group describe" | "group delete" | "cluster info")
      echo "$common" ;;
    "topic alter-config") echo "--set --delete $common" ;;
    "topic add-partitions") echo "-n --count $common" ;;
    "topic produce") echo "-k --key -K --key-delimiter -v --value -H --header -p --partition $common" ;;
    "topic consume") echo "-o --offset --timestamp -p --partition -g --group -n --count -e --exit $common" ;;
    "group seek") echo "-t --topic -p --partitions --to $common" ;;
    "cluster health") echo "--http $common" ;;
  esac
}

_keel_admin() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local prev=""
  [ "$COMP_CWORD" -gt 0 ] && prev="${COMP_WORDS[COMP_CWORD - 1]}"
  # Flags whose next word is their value, not a command.
  local valued=" -b --brokers -X --property --format --timeout -p --partitions -r --replicas -c --config --set
    --delete -n --count -k --key -K --key-delimiter -v --value -H --header --partition -o --offset --timestamp
    -g --group -t --topic --to --http "
  local cmd="" sub="" i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="${COMP_WORDS[i]}"
    if [[ "$w" == -* ]]; then
      [[ "$valued" == *" $w "* ]] && ((i++))
    elif [ -z "$cmd" ]; then
      cmd="$w"
    elif [ -z "$sub" ]; then
      sub="$w"
    fi
  done

  case "$prev" in
    --format)
      # consume also takes a record format of the user's (%k=%s\n, ...).
      COMPREPLY=($(compgen -W "table json" -- "$cur"))
      return ;;
    --to) COMPREPLY=($(compgen -W "earliest latest timestamp: offset:" -- "$cur")); compopt -o nospace 2>/dev/null; return ;;
    -o | --offset) COMPREPLY=($(compgen -W "start end" -- "$cur")); return ;;
  esac
  if [[ " $valued " == *" $prev "* ]] && [[ "$prev" == -* ]]; then
    return  # a value of the user's
  fi

  if [ -z "$cmd" ]; then
    COMPREPLY=($(compgen -W "topic group cluster --help" -- "$cur"))
  elif [ -z "$sub" ]; then
    case "$cmd" in
      topic) COMPREPLY=($(compgen -W "create list describe delete alter-config add-partitions produce consume" -- "$cur")) ;;
      group) COMPREPLY=($(compgen -W "list describe seek delete" -- "$cur")) ;;
      cluster) COMPREPLY=($(compgen -W "info health" -- "$cur")) ;;
    esac
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_keel_admin_flags "$cmd $sub")" -- "$cur"))
  fi
}

complete -F _keel_admin keel-admin
