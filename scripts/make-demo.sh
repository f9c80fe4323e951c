#!/usr/bin/env bash
# Regenerates the bundled demo videos in media/ from synthetic sources (no input files needed).
# Output is committed so a fresh clone plays without ffmpeg. Usage: bash scripts/make-demo.sh [OUT_DIR]
set -euo pipefail
OUT="${1:-$(cd "$(dirname "$0")/.." && pwd)/media}"
command -v ffmpeg >/dev/null || { echo "ffmpeg is required: apt-get install -y ffmpeg" >&2; exit 1; }
FF=(ffmpeg -hide_banner -loglevel error -y)
# Keyframe every 2 s at 25 fps so every segment starts with one (players switch renditions on them).
X264=(-c:v libx264 -profile:v main -pix_fmt yuv420p -preset veryfast -g 50 -keyint_min 50 -sc_threshold 0)
AAC=(-c:a aac -b:a 64k -ac 2 -ar 44100)
src() { # $1 duration, $2 size, $3 pattern: a moving test pattern with a tone
  echo -f lavfi -i "testsrc2=duration=$1:size=$2:rate=25" -f lavfi -i "sine=frequency=$3:duration=$1:sample_rate=44100"
}

rm -rf "$OUT/ladder" "$OUT/cmaf" "$OUT/aes"
mkdir -p "$OUT/ladder/240p" "$OUT/ladder/360p" "$OUT/cmaf" "$OUT/aes"

# 1. ladder: MPEG-TS, 30 s, two renditions and a master playlist.
for r in "240p 426x240 180k" "360p 640x360 360k"; do
  set -- $r
  "${FF[@]}" $(src 30 "$2" 440) "${X264[@]}" -b:v "$3" -maxrate "$3" -bufsize "$3" "${AAC[@]}" \
    -f hls -hls_time 2 -hls_playlist_type vod -hls_segment_filename "$OUT/ladder/$1/seg_%03d.ts" \
    "$OUT/ladder/$1/index.m3u8"
done
cat > "$OUT/ladder/master.m3u8" <<'M3U8'
#EXTM3U
#EXT-X-VERSION:3
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=300000,AVERAGE-BANDWIDTH=250000,RESOLUTION=426x240,CODECS="avc1.4d401e,mp4a.40.2",FRAME-RATE=25
240p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=500000,AVERAGE-BANDWIDTH=430000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2",FRAME-RATE=25
360p/index.m3u8
M3U8

# 2. cmaf: fMP4 segments with an EXT-X-MAP init segment, 12 s.
"${FF[@]}" $(src 12 640x360 660) "${X264[@]}" -b:v 300k -maxrate 300k -bufsize 300k "${AAC[@]}" \
  -f hls -hls_time 2 -hls_playlist_type vod -hls_segment_type fmp4 \
  -hls_fmp4_init_filename init.mp4 -hls_segment_filename "$OUT/cmaf/seg_%03d.m4s" "$OUT/cmaf/media.m3u8"
cat > "$OUT/cmaf/master.m3u8" <<'M3U8'
#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=420000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2",FRAME-RATE=25
media.m3u8
M3U8

# 3. aes: AES-128 encrypted MPEG-TS, 12 s; the key sits under the same gated path (/videos/aes/key.key).
printf '\x68\x6c\x73\x2d\x67\x61\x74\x65\x2d\x64\x65\x6d\x6f\x6b\x65\x79' > "$OUT/aes/key.key" # "hls-gate-demokey"
printf 'key.key\n%s\n00000000000000000000000000000001\n' "$OUT/aes/key.key" > "$OUT/aes/keyinfo.tmp"
"${FF[@]}" $(src 12 426x240 550) "${X264[@]}" -b:v 200k -maxrate 200k -bufsize 200k "${AAC[@]}" \
  -f hls -hls_time 2 -hls_playlist_type vod -hls_key_info_file "$OUT/aes/keyinfo.tmp" \
  -hls_segment_filename "$OUT/aes/seg_%03d.ts" "$OUT/aes/media.m3u8"
rm "$OUT/aes/keyinfo.tmp"
cat > "$OUT/aes/master.m3u8" <<'M3U8'
#EXTM3U
#EXT-X-VERSION:3
#EXT-X-STREAM-INF:BANDWIDTH=310000,RESOLUTION=426x240,CODECS="avc1.4d401e,mp4a.40.2",FRAME-RATE=25
media.m3u8
M3U8

cat > "$OUT/catalog.json" <<'JSON'
{
  "videos": [
    { "id": "ladder", "title": "Test pattern ladder", "description": "MPEG-TS, two renditions (240p, 360p)", "durationSeconds": 30, "playlist": "master.m3u8" },
    { "id": "cmaf", "title": "Test pattern in CMAF", "description": "fMP4 segments with an init segment (EXT-X-MAP)", "durationSeconds": 12, "playlist": "master.m3u8" },
    { "id": "aes", "title": "Encrypted test pattern", "description": "MPEG-TS with AES-128; the key is gated like the segments", "durationSeconds": 12, "playlist": "master.m3u8" }
  ]
}
JSON
du -sh "$OUT"; find "$OUT" -type f | wc -l
