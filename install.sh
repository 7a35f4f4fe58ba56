#!/bin/sh
# Install fwd: download the binary for this machine, verify it against the
# release's SHA256SUMS, then move it into place in one rename.
#
#   curl -fsSL https://github.com/fwd-cli/fwd/releases/latest/download/install.sh | sh
#
# Environment:
#   FWD_VERSION       release tag to install (v0.2.0 or 0.2.0; default: latest)
#   FWD_INSTALL_DIR   where to put `fwd` (default: $HOME/.local/bin)
#   FWD_INSTALL_BASE  URL of the directory holding fwd-<os>-<arch> and SHA256SUMS
#                     (default: the GitHub release of FWD_VERSION)
#   FWD_DOWNLOADER    curl or wget (default: whichever is found first)
#
# Nothing is written to FWD_INSTALL_DIR until the checksum matches.
set -eu

FWD_REPO="fwd-cli/fwd"

say() { printf '%s\n' "$*" >&2; }

die() {
  printf 'fwd install: error: %s\n' "$1" >&2
  if [ -n "${2:-}" ]; then printf '  hint: %s\n' "$2" >&2; fi
  exit 1
}

detect_os() {
  case "$(uname -s)" in
    Linux) echo linux ;;
    Darwin) echo darwin ;;
    *) die "unsupported operating system: $(uname -s)" \
      "fwd is built for Linux and macOS; on Windows, run this inside WSL" ;;
  esac
}

detect_arch() {
  os=$1
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "unsupported CPU architecture: $(uname -m)" "fwd is built for x64 and arm64" ;;
  esac
  # A shell running under Rosetta 2 reports x86_64 on an Apple Silicon mac:
  # install the native binary instead of an emulated one.
  if [ "$os" = darwin ] && [ "$arch" = x64 ]; then
    if [ "$(sysctl -in sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
      arch=arm64
    fi
  fi
  echo "$arch"
}

base_url() {
  if [ -n "${FWD_INSTALL_BASE:-}" ]; then
    echo "${FWD_INSTALL_BASE%/}"
    return
  fi
  version=${FWD_VERSION:-latest}
  if [ "$version" = latest ]; then
    echo "https://github.com/$FWD_REPO/releases/latest/download"
  else
    case "$version" in v*) ;; *) version="v$version" ;; esac
    echo "https://github.com/$FWD_REPO/releases/download/$version"
  fi
}

check_base() {
  # Plain HTTP only for a server on this machine (tests, a local mirror).
  case "$1" in
    https://*) ;;
    http://127.0.0.1:* | http://127.0.0.1/* | http://localhost:* | http://localhost/*) ;;
    http://\[::1\]:* | http://\[::1\]/*) ;;
    *) die "refusing to download from $1" "FWD_INSTALL_BASE must be an https:// URL" ;;
  esac
}

pick_downloader() {
  want=${FWD_DOWNLOADER:-}
  for tool in ${want:-curl wget}; do
    if command -v "$tool" >/dev/null 2>&1; then
      echo "$tool"
      return
    fi
  done
  die "neither curl nor wget is installed" "install one of them and run this again"
}

# download TOOL URL FILE
download() {
  case "$1" in
    curl) curl -fsSL --retry 2 --proto-redir '=https' -o "$3" "$2" ;;
    wget) wget -q -O "$3" "$2" ;;
    *) die "unknown downloader: $1" "set FWD_DOWNLOADER to curl or wget" ;;
  esac
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
  else
    die "no SHA-256 tool found (sha256sum, shasum or openssl)" \
      "fwd will not install a binary it cannot verify"
  fi
}

# expected_sum SUMSFILE ASSET: the hash listed for ASSET ("HASH  NAME" or "HASH *NAME").
expected_sum() {
  awk -v f="$2" '$2 == f || $2 == "*" f { print tolower($1); exit }' "$1"
}

on_path() {
  case ":${PATH:-}:" in *":$1:"*) return 0 ;; esac
  return 1
}

main() {
  os=$(detect_os)
  arch=$(detect_arch "$os")
  asset="fwd-$os-$arch"
  base=$(base_url)
  check_base "$base"
  tool=$(pick_downloader)
  dir=${FWD_INSTALL_DIR:-${HOME:?HOME is not set}/.local/bin}

  tmp=$(mktemp -d "${TMPDIR:-/tmp}/fwd-install.XXXXXX")
  staged=""
  trap 'rm -rf "$tmp"; if [ -n "$staged" ]; then rm -f "$staged"; fi' EXIT
  trap 'exit 130' INT TERM

  say "Downloading $asset from $base"
  download "$tool" "$base/$asset" "$tmp/$asset" ||
    die "could not download $base/$asset" \
      "check FWD_VERSION (a release tag) and FWD_INSTALL_BASE; is $asset published?"
  download "$tool" "$base/SHA256SUMS" "$tmp/SHA256SUMS" ||
    die "could not download $base/SHA256SUMS" "every fwd release publishes SHA256SUMS"

  want=$(expected_sum "$tmp/SHA256SUMS" "$asset")
  [ -n "$want" ] || die "SHA256SUMS lists no checksum for $asset" "the release looks incomplete"
  got=$(sha256_of "$tmp/$asset")
  if [ "$got" != "$want" ]; then
    die "checksum mismatch for $asset: expected $want, got $got" \
      "nothing was installed; the download is corrupt or was tampered with"
  fi
  say "Checksum OK ($want)"

  mkdir -p "$dir" || die "cannot create $dir" "set FWD_INSTALL_DIR to a directory you can write"
  # Staged in the target directory so the final mv is a rename on one file system:
  # a running fwd keeps its old inode and nobody ever sees half a binary.
  staged="$dir/.fwd.install.$$"
  cp "$tmp/$asset" "$staged" || die "cannot write to $dir" "set FWD_INSTALL_DIR to a directory you can write"
  chmod 0755 "$staged"
  mv -f "$staged" "$dir/fwd"
  staged=""

  if version=$("$dir/fwd" --version 2>/dev/null); then
    say "Installed $version"
  else
    say "Installed $dir/fwd (it did not run here: check that $asset suits this machine)"
  fi
  say "  -> $dir/fwd"
  if ! on_path "$dir"; then
    say ""
    say "$dir is not on your PATH. Add it, for example:"
    say "  echo 'export PATH=\"$dir:\$PATH\"' >> ~/.profile   # then open a new shell"
  fi
}

main "$@"
