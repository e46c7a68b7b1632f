#!/usr/bin/env bash
# Regenerates the demo corpus in data/ from Debian's hyperrogue-music package (CC-BY-SA-3.0, see ATTRIBUTION.md):
# three 20-second clips, mono, 22050 Hz, 16-bit PCM WAV. Deterministic (bit-exact ffmpeg output).
#   bash data/make_data.sh
set -euo pipefail
cd "$(dirname "$0")"
SRC=/usr/share/hyperrogue/music
if ! [ -d "$SRC" ] || ! command -v ffmpeg >/dev/null; then
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg hyperrogue-music
fi
clip() {  # SOURCE START OUT
  ffmpeg -nostdin -hide_banner -loglevel error -y -ss "$2" -t 20 -i "$SRC/$1" \
    -fflags +bitexact -map_metadata -1 -ac 1 -ar 22050 -c:a pcm_s16le "$3"
}
clip hr3-jungle.ogg 30 jungle.wav
clip hr3-desert.ogg 40 desert.wav
clip hr3-crossroads.ogg 20 crossroads.wav
sha256sum jungle.wav desert.wav crossroads.wav
