// Placeholder until the player lands: makes player/dist so the gateway has something to serve.
import { mkdirSync, writeFileSync } from 'node:fs';
mkdirSync(new URL('../player/dist/', import.meta.url), { recursive: true });
writeFileSync(new URL('../player/dist/index.html', import.meta.url), '<!doctype html><title>hls-gate</title><p>Player coming soon.</p>\n');
