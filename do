#!/usr/bin/env bash
# The project's commands, in one place (the README names them):
#   ./do run     install what is missing, build, start the server with the demo
#   ./do test    install what is missing, run every test
#   ./do fuzz [seconds per target] [target…]       the fuzz targets (docs/fuzzing.md)
#   ./do bench ingest [--clients N --seconds S]   server ingest figures (release build)
#   ./do bench photo | ./do bench sync              mobile-core photo preparation / sync figures
#   ./do bench push                                 Web Push fan-out to 10,000 subscriptions
#   ./do bench map                                  the map in Chromium on an area of 1M incidents
#   ./do bench melden                               the reporting app: photo preparation, first load, sending 200 queued reports
#   ./do bench photo-memory                         server memory with 16 of the largest photos arriving at once
#   ./do bench rounds                               compliance and coverage over a month of rounds in 50 areas
#   ./do bench soak                                 200 clients for 5 minutes: latency per endpoint, errors, memory
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '\033[1m%s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages the build and the embedded PostGIS need.
APT_PACKAGES=(postgresql-15-postgis-3 build-essential pkg-config libssl-dev nasm)

install_missing() {
  local missing=()
  for p in "${APT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "Pakketten installeren / installing packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if ! command -v cargo >/dev/null; then
    say "Rust ontbreekt / Rust is missing: install it with rustup (https://rustup.rs), then run this again."
    exit 1
  fi
}

# As root, the private cluster runs as the `postgres` user, which must be able
# to reach the data directory; a checkout under /root is not reachable.
default_data_dir() {
  if [ -z "${KVO_DATA_DIR:-}" ] && [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$PWD" 2>/dev/null; then
    export KVO_DATA_DIR=/var/lib/kvo-meldingen
    say "Gegevens in / data in $KVO_DATA_DIR (de postgres-gebruiker kan $PWD niet bereiken)"
  fi
}

# The map UI: its API types generated from the server's OpenAPI document,
# then built with Vite into map-ui/dist (served by the server at /). `npm ci`
# installs exactly the lock file (which lists every platform's optional
# binaries) and never rewrites it.
build_map_ui() {
  local kvo=$1
  command -v npm >/dev/null || install_missing nodejs npm
  mkdir -p build
  "$kvo" openapi > build/openapi.json
  say "Kaart bouwen / building the map UI…"
  (cd map-ui && npm ci --no-audit --no-fund --loglevel=error && npm run --silent gen && npm run --silent build) >&2
}

# A private Python environment with pytest and Pillow for the binding tests.
python_env() {
  if [ ! -x build/venv/bin/python ]; then
    python3 -m venv build/venv 2>/dev/null || { install_missing python3-venv; rm -rf build/venv; python3 -m venv build/venv; }
  fi
  build/venv/bin/python -c 'import pytest, PIL, cryptography' 2>/dev/null || build/venv/bin/pip install -q pytest pillow cryptography
}

cmd=${1:-}
shift || true
case "$cmd" in
  run)
    install_missing
    default_data_dir
    say "Bouwen / building (release)…"
    cargo build --release -p kvo-server
    build_map_ui ./target/release/kvo
    exec ./target/release/kvo serve --demo "$@"
    ;;
  test)
    install_missing
    say "Opmaak en lints / formatting and lints (rustfmt, clippy -D warnings)…"
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --quiet -- -D warnings
    say "Gecontroleerde SQL / compile-time checked queries against the migrations (server/.sqlx)…"
    scripts/sqlx-prepare --check
    say "Rust-tests / Rust tests…"
    cargo test --workspace "$@"
    say "mobile-core via de Python-bindings / through the Python bindings…"
    cargo build -p kvo-server
    scripts/bindings debug >/dev/null
    python_env
    say "Telefoon-buildscripts (syntaxis; geen NDK/Xcode hier) / phone build scripts (syntax only)…"
    for s in scripts/*; do bash -n "$s"; done
    build/venv/bin/python -m pytest -q tests/python
    say "Het API-contract met schemathesis (2 × 60 s) / the API contract with schemathesis…"
    scripts/api-contract 60
    say "mobile-core via de Kotlin-bindings op de JVM / through the Kotlin bindings on the JVM…"
    install_missing openjdk-17-jdk-headless libjna-java
    scripts/kotlin-test
    say "Android-module en Swift-bindings (indeling; geen NDK/Xcode hier) / Android module and Swift bindings (layout)…"
    scripts/check-app-layout
    say "De kaart in Chromium / the map UI in Chromium…"
    install_missing chromium
    build_map_ui ./target/debug/kvo
    node map-ui/tests/browser.mjs
    say "De meld-app in Chromium (mobiel) / the reporting app in Chromium (mobile)…"
    node map-ui/tests/melden.mjs
    say "De beheerconsole in Chromium / the beheerder's console in Chromium…"
    node map-ui/tests/beheer.mjs
    say "Fuzzen, 60 s per doel / fuzzing, 60 s per target (docs/fuzzing.md)…"
    scripts/fuzz 60
    ;;
  fuzz)
    install_missing
    exec scripts/fuzz "$@"
    ;;
  bench)
    install_missing
    case "${1:-}" in
      photo) exec cargo bench -p mobile-core --bench photo ;;
      sync) exec cargo bench -p kvo-tests --bench sync ;;
      push) exec cargo bench -p kvo-tests --bench push ;;
      melden)
        install_missing chromium
        cargo build --release -p kvo-server
        build_map_ui ./target/release/kvo
        mkdir -p build
        say "Fotovoorbereiding in Rust (mobile-core), hetzelfde bestand daarna in Chromium / the Rust path first, then Chromium on the same file…"
        KVO_BENCH_PHOTO_OUT="$PWD/build/bench-12mp.jpg" cargo bench -p mobile-core --bench photo
        KVO_BIN=./target/release/kvo exec node map-ui/tests/bench-melden.mjs build/bench-12mp.jpg
        ;;
      map)
        install_missing chromium
        cargo build --release -p kvo-server
        build_map_ui ./target/release/kvo
        exec node map-ui/tests/bench.mjs "${@:2}"
        ;;
      *) cargo build --release -p kvo-server; exec ./target/release/kvo bench "$@" ;;
    esac
    ;;
  *)
    echo "gebruik / usage: ./do run | ./do test | ./do fuzz [s] [target…] | ./do bench ingest|heatmap|rounds|soak|photo|photo-memory|sync|push|map|melden" >&2
    exit 2
    ;;
esac
