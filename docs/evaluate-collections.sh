#!/bin/bash
# Reproduces docs/evaluation.md's tables on three collections of Debian game music: trains each preset with
# `musicgen train`'s defaults on about 10 minutes of a collection, evaluates it on held-out tracks of the same
# collection (3 takes x 20 s from each of two held-out seeds), and renders seed and take spectrograms.
# Defaults were chosen on hyperrogue-music only (hyperrogue and the laboratories below: hyperrogue-savino,
# hyperrogue-domina, hyperrogue-intro, hyperrogue-2files and hyperrogue-2files-nograveyard); singularity and asc are reported as they come.
# Sampling rows: the evaluate command below with --beat-guidance G, --temperature T, --seed-prior W, --song-memory M,
# --seed-contexts C, --seed-backoff S, --seed-envelope E, --hold-clock, --seed-guide P, --guide-cap C, --guide-window W, --seed-adaptation A, --seed-bias B, --seed-timbre S, --song-timbre, --seed-dynamics D, --excerpt-dynamics, --seed-groove G, --seed-level L, --partial-sustain D, --skip-intro false or
# --phase-iterations N added, and with --takes 6 or --random-seed 101 (another draw) where the tables say so.
# Usage: bash docs/evaluate-collections.sh [work folder, default /tmp/eval-collections] [collections] [presets]
#   e.g. bash docs/evaluate-collections.sh /tmp/e "hyperrogue singularity asc" "default seed2017"
#   presets: default, seed2017, texture (the default trained with --texture-input), members (the default trained with --members 8),
#   contexts (the default, its takes with --seed-contexts 0.5), relabel (the default trained with --relabel-share 0.25),
#   seedbackoff (the default, its takes with --seed-backoff 1), onset (the default trained with --onset-term)
# Needs apt (the music packages, sox) and Node.js for measures 8 and 9. About 20 minutes per collection and preset pair
# on 2 cores.
set -euo pipefail
work=$(realpath -m "${1:-/tmp/eval-collections}")
collections=${2:-hyperrogue singularity asc}
presets=${3:-default seed2017}
repo=$(cd "$(dirname "$0")/.." && pwd)
need() { dpkg -s "$1" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null; }; }
need sox; need libsox-fmt-all; need ffmpeg  # musicgen decodes MP3 (asc) and Ogg with it
dotnet build -c Release "$repo/src/Host" -v q -nologo >/dev/null
[ -d "$repo/tools/basic-pitch/node_modules" ] || npm ci --prefix "$repo/tools/basic-pitch" --no-audit --no-fund >/dev/null
export MUSICGEN_BASIC_PITCH="$repo/tools/basic-pitch"
dll="$repo/src/Host/bin/Release/net10.0/linux-x64/musicgen.dll"
musicgen() { dotnet "$dll" "$@"; }

hr3=(caves crossroads desert graveyard hell icyland jungle) # hyperrogue's training tracks (one composer)
# Seeds the opening of each track, reference the rest: split_tracks NAME FILE SECONDS [NAME FILE SECONDS ...]
split_tracks() {
  seeds=(); reference=()
  while [ $# -gt 0 ]; do
    sox "$2" "$dir/$1-first$3s.wav" trim 0 "$3"; sox "$2" "$dir/$1-from$3s.wav" trim "$3"
    seeds+=("$dir/$1-first$3s.wav"); reference+=("$dir/$1-from$3s.wav")
    shift 3
  done
}
for c in $collections; do
  dir="$work/$c"
  rm -rf "$dir/train" && mkdir -p "$dir/train"
  case $c in
    hyperrogue)   # 7 tracks, 10.0 min
      need hyperrogue-music; M=/usr/share/hyperrogue/music
      for t in "${hr3[@]}"; do ln -s "$M/hr3-$t.ogg" "$dir/train/"; done
      reference=("$M/hr3-laboratory.ogg" "$M/hr3-motion.ogg" "$M/hr3-rlyeh.ogg")
      seeds=("$M/hr3-mirror.ogg" "$M/hr3-laboratory.ogg") ;;
    hyperrogue-savino)  # a laboratory within hyperrogue-music: hyperrogue's training, seeds and reference by another composer
      need hyperrogue-music; M=/usr/share/hyperrogue/music
      for t in "${hr3[@]}"; do ln -s "$M/hr3-$t.ogg" "$dir/train/"; done
      reference=("$M/hr-savino-ocean.ogg" "$M/hr-savino-palace.ogg")
      seeds=("$M/hr-savino-caribbean.ogg" "$M/hr-savino-ivory.ogg") ;;
    hyperrogue-domina)  # a laboratory within hyperrogue-music: a third composer; seeds the first half of each track, reference the second
      need hyperrogue-music; M=/usr/share/hyperrogue/music
      for t in "${hr3[@]}"; do ln -s "$M/hr3-$t.ogg" "$dir/train/"; done
      split_tracks hunting "$M/hr-domina-hunting.ogg" 35 mountain "$M/hr-domina-mountain.ogg" 43.7 ;;
    hyperrogue-intro)  # a laboratory within hyperrogue-music: seeds that open with a quiet intro (the first 50 s of two held-out tracks), reference the rest
      need hyperrogue-music; M=/usr/share/hyperrogue/music
      for t in "${hr3[@]}"; do ln -s "$M/hr3-$t.ogg" "$dir/train/"; done
      split_tracks rlyeh "$M/hr3-rlyeh.ogg" 50 motion "$M/hr3-motion.ogg" 50 ;;
    hyperrogue-2files)  # a laboratory: hyperrogue's training joined into two files (as asc has), its seeds and reference
      need hyperrogue-music; M=/usr/share/hyperrogue/music
      sox "$M/hr3-caves.ogg" "$M/hr3-crossroads.ogg" "$M/hr3-desert.ogg" "$M/hr3-graveyard.ogg" "$dir/train/a.wav"
      sox "$M/hr3-hell.ogg" "$M/hr3-icyland.ogg" "$M/hr3-jungle.ogg" "$dir/train/b.wav"
      reference=("$M/hr3-laboratory.ogg" "$M/hr3-motion.ogg" "$M/hr3-rlyeh.ogg")
      seeds=("$M/hr3-mirror.ogg" "$M/hr3-laboratory.ogg") ;;
    hyperrogue-2files-nograveyard)  # the same without hr3-graveyard (3 + 3 tracks): the track whole-file validation holds out
      need hyperrogue-music; M=/usr/share/hyperrogue/music
      sox "$M/hr3-caves.ogg" "$M/hr3-crossroads.ogg" "$M/hr3-desert.ogg" "$dir/train/a.wav"
      sox "$M/hr3-hell.ogg" "$M/hr3-icyland.ogg" "$M/hr3-jungle.ogg" "$dir/train/b.wav"
      reference=("$M/hr3-laboratory.ogg" "$M/hr3-motion.ogg" "$M/hr3-rlyeh.ogg")
      seeds=("$M/hr3-mirror.ogg" "$M/hr3-laboratory.ogg") ;;
    singularity)  # 3 tracks, 11.2 min
      need singularity-music; M=/usr/share/games/singularity/music
      for t in "Awakening" "Coherence" "Through Space"; do ln -s "$M/$t.ogg" "$dir/train/"; done
      reference=("$M/Nebula.ogg" "$M/Orbital Elevator.ogg" "$M/Inevitable.ogg")
      seeds=("$M/Enemy Unknown.ogg" "$M/Deprecation.ogg") ;;
    asc)          # 2 tracks, 9.8 min (the package has 3: one is split between training and a seed)
      need asc-music; M=/usr/share/games/asc/music
      ln -s "$M/frontiers.mp3" "$dir/train/"
      sox "$M/machine_wars.mp3" "$dir/train/machine_wars-first150s.wav" trim 0 150
      sox "$M/machine_wars.mp3" "$dir/machine_wars-from150s.wav" trim 150
      reference=("$M/time_to_strike.mp3")
      seeds=("$dir/machine_wars-from150s.wav" "$M/time_to_strike.mp3") ;;
    *) echo "unknown collection $c" >&2; exit 2 ;;
  esac
  cd "$dir"
  for p in $presets; do
    extra=(); [ "$p" = seed2017 ] && extra=(--preset seed2017 --channels 1 --sample-rate 22050)
    [ "$p" = texture ] && extra=(--texture-input) # the default with the texture input, an option left off
    [ "$p" = members ] && extra=(--members 8)     # the default with 8 members a token, an option left off
    [ "$p" = onset ] && extra=(--onset-term)       # the default with the onset term, an option left off
    [ "$p" = relabel ] && extra=(--relabel-share 0.25) # the default with a quarter of its streams renamed, an option left off
    sampling=(); [ "$p" = contexts ] && sampling=(--seed-contexts 0.5) # the default's takes with seed contexts, an option left off
    [ "$p" = seedbackoff ] && sampling=(--seed-backoff 1) # the default's takes with the backoff drawing the seed's sounds, an option left off
    /usr/bin/time -f "$c $p train: %e s wall, %M KB peak" dotnet "$dll" train "$dir/train" --model "$p.zip" --force "${extra[@]}" | tail -4
    musicgen evaluate --model "$p.zip" --reference "${reference[@]}" --seeds "${seeds[@]}" --training "$dir/train" --takes 3 "${sampling[@]}" --json "$p.json"
    for s in "${seeds[@]}"; do
      n=$(basename "${s%.*}" | tr ' ' '_')
      # generate says where it primed when it skipped a quiet intro; the seed's spectrogram below shows that excerpt
      musicgen generate --model "$p.zip" --seed "$s" "${sampling[@]}" --out "$p-from-$n.wav" 2>&1 >/dev/null \
        | sed -n 's/^priming from \([0-9.]*\) s.*/\1/p' > "prime-$n.txt"
      sox "$p-from-$n.wav" -n spectrogram -x 1000 -y 257 -t "$c, $p, 20 s from $n (held out)" -o "eval-$c-$p-from-$n.png"
    done
  done
  for s in "${seeds[@]}"; do
    n=$(basename "${s%.*}" | tr ' ' '_')
    at=$(cat "prime-$n.txt" 2>/dev/null); at=${at:-0}
    sox "$s" -n trim "$at" 10 remix - rate 22050 spectrogram -x 1000 -y 257 -t "$c seed: $n from $at s, the priming excerpt" -o "eval-$c-seed-$n.png"
  done
done
echo "Figures: $work/*/*.json; spectrograms: $work/*/eval-*.png"
