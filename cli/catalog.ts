import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError, type Io } from './io.ts';
import { readCatalogFile, updateCatalog, upsertEntry } from '../packager/catalog-file.ts';
import { MASTER_PLAYLIST, VIDEO_ID } from '../server/app/layout.ts';
import type { CatalogEntry } from '../server/app/catalog.ts';

/** `hls-gate catalog list|add|remove`: catalog.json without hand-editing JSON. */
export async function catalogCommand(argv: string[], io: Io): Promise<number> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      'media-dir': { type: 'string' },
      title: { type: 'string' },
      description: { type: 'string' },
      duration: { type: 'string' },
      playlist: { type: 'string' },
      poster: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const mediaDir = resolve(values['media-dir'] ?? io.env.MEDIA_DIR ?? 'media');
  if (!existsSync(mediaDir))
    throw new UsageError(`the media folder ${mediaDir} does not exist (--media-dir or MEDIA_DIR)`);
  switch (action) {
    case 'list': {
      const entries = await readCatalogFile(mediaDir);
      if (values.json) io.stdout(`${JSON.stringify(entries)}\n`);
      else
        for (const e of entries)
          io.stdout(
            `${e.id}\t${e.title}${e.durationSeconds !== undefined ? `\t${Math.round(e.durationSeconds)} s` : ''}\n`,
          );
      return 0;
    }
    case 'add': {
      const id = positionals[0];
      if (!id || !VIDEO_ID.test(id))
        throw new UsageError(
          'usage: hls-gate catalog add <videoId> [--title T] [--description D] [--duration S] [--playlist P] [--poster P]',
        );
      const playlist = values.playlist ?? MASTER_PLAYLIST;
      if (!existsSync(join(mediaDir, id, playlist)))
        throw new UsageError(
          `${join(mediaDir, id, playlist)} does not exist: package the video first (hls-gate package)`,
        );
      const entry: CatalogEntry = { id, title: values.title ?? id, playlist };
      if (values.description) entry.description = values.description;
      if (values.duration) entry.durationSeconds = Number(values.duration);
      if (values.poster) entry.poster = values.poster;
      await upsertEntry(mediaDir, entry);
      io.stdout(`catalog.json: ${id} added\n`);
      return 0;
    }
    case 'remove': {
      const id = positionals[0];
      if (!id)
        throw new UsageError(
          'usage: hls-gate catalog remove <videoId> (the media files stay; delete the folder yourself)',
        );
      let found = false;
      await updateCatalog(mediaDir, (entries) => entries.filter((e) => (e.id === id ? ((found = true), false) : true)));
      if (!found) throw new UsageError(`${id} is not in catalog.json`);
      io.stdout(`catalog.json: ${id} removed (its files in ${join(mediaDir, id)} are kept)\n`);
      return 0;
    }
    default:
      throw new UsageError('usage: hls-gate catalog list|add|remove ... (hls-gate catalog --help)');
  }
}
