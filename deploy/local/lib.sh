# Shared by the local stack scripts (stack.sh, prometheus.sh): read the
# instance's env file. Callers define die() and REPO before sourcing this.
#
# load_env_file FILE: KEY=value lines (comments, blank lines, `export`,
# optional quotes); a variable already set in the environment wins.
load_env_file() {
  local file="$1" line key val
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line%$'\r'}"
    [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
    line="${line#export }"
    [[ "$line" =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] \
      || die "$file: cannot parse line: $line"
    key="${BASH_REMATCH[1]}" val="${BASH_REMATCH[2]}"
    if [[ "$val" =~ ^\"(.*)\"$ || "$val" =~ ^\'(.*)\'$ ]]; then val="${BASH_REMATCH[1]}"; fi
    [[ -n "${!key+x}" ]] && continue # the environment wins
    export "$key=$val"
  done <"$file"
}

if [[ -n "${HOTLINE_ENV_FILE:-}" ]]; then
  [[ -f "$HOTLINE_ENV_FILE" ]] || die "HOTLINE_ENV_FILE=$HOTLINE_ENV_FILE does not exist"
  load_env_file "$HOTLINE_ENV_FILE"
elif [[ -f "$REPO/deploy/dev/hotline.env" ]]; then
  load_env_file "$REPO/deploy/dev/hotline.env"
fi

# pid_alive PID [COMM]: the process exists, is not a zombie (an exited
# daemon may linger as one when PID 1 does not reap promptly) and, when
# COMM is given, has that command name.
pid_alive() {
  local pid="$1" comm="${2:-}"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  local stat
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat%% *}" != Z ]] || return 1
  [[ -z "$comm" ]] || [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm"* ]]
}
