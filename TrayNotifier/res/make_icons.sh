#!/usr/bin/env bash
# Regenerates TrayNotifier's icons (app.ico, info.ico, warning.ico, error.ico) with ImageMagick.
# Each is drawn once at 256x256 from plain shapes (no fonts, so the result does not depend on the
# fonts installed), then scaled into one .ico with 16, 20, 24, 32 and 48 pixel images.
# The .ico files are committed; the build does not run this script. Run it from anywhere:
#   TrayNotifier/res/make_icons.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v convert >/dev/null || { echo "make_icons.sh: ImageMagick's convert is needed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

canvas() { convert -size 256x256 xc:none "$@"; }

# The app: a blue rounded square, a white pipe (tube with two flanges) and an amber badge.
canvas -fill '#1f5fbf' -draw 'roundrectangle 8,8 247,247 44,44' \
    -fill white -draw 'rectangle 40,146 216,190' \
    -draw 'roundrectangle 24,124 62,212 8,8' -draw 'roundrectangle 194,124 232,212 8,8' \
    -fill '#ffb000' -stroke white -strokewidth 10 -draw 'circle 128,70 128,28' \
    "$tmp/app.png"
# Info: a blue disc with a white "i" (dot and bar).
canvas -fill '#1f6fd0' -draw 'circle 128,128 128,8' \
    -fill white -draw 'circle 128,70 128,46' -draw 'roundrectangle 106,104 150,212 10,10' \
    "$tmp/info.png"
# Warning: an amber triangle with a dark "!".
canvas -fill '#f2b400' -stroke '#9a6b00' -strokewidth 8 -draw 'polygon 128,14 246,232 10,232' \
    -stroke none -fill '#202020' -draw 'roundrectangle 112,76 144,170 10,10' \
    -draw 'circle 128,200 128,182' \
    "$tmp/warning.png"
# Error: a red disc with a white cross.
canvas -fill '#d0302a' -draw 'circle 128,128 128,8' \
    -stroke white -strokewidth 36 -draw 'line 80,80 176,176' -draw 'line 176,80 80,176' \
    "$tmp/error.png"

for name in app info warning error; do
    sizes=()
    for px in 16 20 24 32 48; do
        convert "$tmp/$name.png" -filter Lanczos -resize "${px}x${px}" "$tmp/$name-$px.png"
        sizes+=("$tmp/$name-$px.png")
    done
    convert "${sizes[@]}" "$name.ico"
done
echo "make_icons.sh: wrote app.ico info.ico warning.ico error.ico in $(pwd)"
