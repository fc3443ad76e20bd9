# Sourced by the test scripts: installs a Debian package when what a test needs is
# missing (as root, or with passwordless sudo), so a fresh machine needs nothing by
# hand. `need CMD PKG...` installs PKG... when CMD is not on the PATH;
# `need_venv` makes sure `python3 -m venv` works.
apt_install() {
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo -n)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -q "$@" >/dev/null 2>&1 || {
    "${sudo[@]}" apt-get update -q >/dev/null
    "${sudo[@]}" apt-get install -y -q "$@" >/dev/null
  }
}
need() {
  local cmd="$1"
  shift
  command -v "$cmd" >/dev/null 2>&1 || apt_install "$@"
}
need_venv() {
  need python3 python3
  python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
}
