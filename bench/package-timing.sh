#!/usr/bin/env bash
# Time to package a 60 s 1080p source into the default ladder, against the same ffmpeg encode run by hand,
# interleaved (hand, package, hand, package). Usage: bash bench/package-timing.sh   (about 4 minutes)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=duration=60:size=1920x1080:rate=30 -f lavfi -i sine=frequency=440:duration=60:sample_rate=48000 -c:v libx264 -preset ultrafast -crf 18 -c:a aac -shortest src1080.mp4
# The exact arguments `package` gives ffmpeg, from its own builder.
(cd "$root" && npx tsx -e "
import { probe, findTools } from './cli/package/ffmpeg.ts';
import { chooseLadder, ffmpegArgs } from './cli/package/ladder.ts';
const tools = findTools(process.env);
const s = probe(tools, '$work/src1080.mp4');
console.log(JSON.stringify(['-hide_banner', '-nostats', '-loglevel', 'error', ...ffmpegArgs('$work/src1080.mp4', '$work/byhand', s, chooseLadder(s).renditions, { format: 'ts', segmentSeconds: 4, preset: 'veryfast' })]));
") > args.json
for i in 1 2; do
  rm -rf byhand && mkdir byhand
  node -e "
const { spawnSync } = require('child_process');
const t = Date.now(); spawnSync('ffmpeg', JSON.parse(require('fs').readFileSync('args.json', 'utf8')), { stdio: 'inherit' });
console.log('ffmpeg by hand: ' + ((Date.now() - t) / 1000).toFixed(1) + ' s');"
  rm -rf m && mkdir m
  node -e "
const { spawnSync } = require('child_process');
const t = Date.now(); const r = spawnSync('node', ['$root/bin/hls-gate.js', 'package', 'src1080.mp4', '--id', 'bench', '--media-dir', 'm', '--json']);
const rep = JSON.parse(r.stdout.toString());
console.log('hls-gate package: ' + ((Date.now() - t) / 1000).toFixed(1) + ' s (its ffmpeg ' + rep.ffmpegSeconds + ' s)');"
done
