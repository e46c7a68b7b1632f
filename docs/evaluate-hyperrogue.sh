#!/bin/bash
# Reproduces docs/evaluation.md: trains both presets on ~10 minutes of Debian's hyperrogue-music with `musicgen train`'s
# defaults, evaluates them on held-out tracks of the same package, and renders seed-vs-generated spectrograms.
# Usage: bash docs/evaluate-hyperrogue.sh [work folder, default /tmp/eval]   (needs apt for hyperrogue-music and sox)
set -euo pipefail
work=${1:-/tmp/eval}
repo=$(cd "$(dirname "$0")/.." && pwd)
H=/usr/share/hyperrogue/music
[ -d $H ] || { apt-get update -qq && apt-get install -y -qq hyperrogue-music; }
command -v sox >/dev/null || apt-get install -y -qq sox libsox-fmt-all
dotnet build -c Release "$repo/src/Host" -v q -nologo >/dev/null
# Measures 8 and 9 need the Basic Pitch embedder (Node.js and its npm packages).
[ -d "$repo/tools/basic-pitch/node_modules" ] || npm ci --prefix "$repo/tools/basic-pitch" --no-audit --no-fund >/dev/null
dll="$repo/src/Host/bin/Release/net10.0/linux-x64/musicgen.dll"
musicgen() { dotnet "$dll" "$@"; }
mkdir -p "$work/train"
for t in caves crossroads desert graveyard hell icyland jungle; do ln -sf $H/hr3-$t.ogg "$work/train/"; done
cd "$work"
reference=($H/hr3-laboratory.ogg $H/hr3-motion.ogg $H/hr3-rlyeh.ogg)
seeds=($H/hr3-mirror.ogg $H/hr3-laboratory.ogg)
/usr/bin/time -f "train default: %e s wall, %M KB peak" dotnet "$dll" train "$work/train" --model default.zip --force
/usr/bin/time -f "train seed2017: %e s wall, %M KB peak" dotnet "$dll" train "$work/train" --model seed2017.zip --force --preset seed2017 --channels 1 --sample-rate 22050
for m in default seed2017; do
  musicgen evaluate --model $m.zip --reference "${reference[@]}" --seeds "${seeds[@]}" --training "$work/train" --takes 3 --json $m.json
  for s in "${seeds[@]}"; do
    n=$(basename "$s" .ogg)
    musicgen generate --model $m.zip --seed "$s" --out "$m-from-$n.wav" --takes 3
    sox "$m-from-$n-1.wav" -n spectrogram -x 1000 -y 257 -t "$m, take 1, from $n (held out)" -o "eval-$m-from-$n.png"
  done
done
for s in "${seeds[@]}"; do
  n=$(basename "$s" .ogg)
  sox "$s" -n trim 0 10 remix - rate 22050 spectrogram -x 1000 -y 257 -t "seed: first 10 s of $n (the priming excerpt)" -o "eval-seed-$n.png"
done
musicgen bench generate --model default.zip --seed ${seeds[0]}
