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
