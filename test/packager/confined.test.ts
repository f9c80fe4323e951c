// The packager on a stranger's file (`untrusted`): ffmpeg and ffprobe read only the file itself, as the container
// its leading bytes show, within limits. Each hostile source here was packaged and published by the old packager
// (an HLS playlist, a DASH manifest or a concat list behind ID3 or MPEG-TS sync bytes, naming another video's
// files); now each fails with a code, publishes nothing, and leaves the media folder as it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_FAILURES, PackageError, packageVideo, type SourceLimits } from '../../packager/index.ts';
import { sniffContainer } from '../../server/app/media-container.ts';

const LIMITS: SourceLimits = { maxSeconds: 60, maxWidth: 4096, maxHeight: 4096, wallBaseSeconds: 60, wallFactor: 10 };
const ID3 = Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'latin1');
/** Seven "packets" that start with the MPEG-TS sync byte and hold nothing (null PID). */
const TS_SYNC = Buffer.concat(
  Array.from({ length: 7 }, () => Buffer.concat([Buffer.from([0x47, 0x1f, 0xff, 0x10]), Buffer.alloc(184, 0xff)])),
);

describe('the packager confined to the uploaded file', () => {
  let work: string;
  let media: string;
  let other: string; // another video's files on the host, which no upload may turn into its own
  const ff = (...args: string[]) => execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
  const snapshot = () => readdirSync(media, { recursive: true }).map(String).sort();
  const fail = async (
    file: string,
    limits: SourceLimits = LIMITS,
  ): Promise<{ error: PackageError; progressed: boolean }> => {
    let progressed = false;
    const err = await packageVideo(
      file,
      { id: 'stranger', publish: { to: 'local', mediaDir: media }, untrusted: limits },
      { onProgress: (f) => void (progressed ||= f > 0) },
    ).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PackageError);
    return { error: err as PackageError, progressed };
  };

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'hls-gate-confined-'));
    media = join(work, 'media');
    other = join(work, 'private');
    mkdirSync(media);
    mkdirSync(other);
    writeFileSync(join(media, 'catalog.json'), '{ "videos": [] }');
    ff(
      '-f',
      'lavfi',
      '-i',
      'testsrc2=duration=4:size=320x240:rate=25',
      '-f',
      'lavfi',
      '-i',
      'sine=duration=4',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-c:a',
      'aac',
      '-shortest',
      join(work, 'clip.mp4'),
    );
    ff(
      '-i',
      join(work, 'clip.mp4'),
      '-c',
      'copy',
      '-f',
      'hls',
      '-hls_time',
      '1',
      '-hls_playlist_type',
      'vod',
      join(other, 'index.m3u8'),
    );
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const playlist = () =>
    `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.0,\n${join(other, 'index0.ts')}\n#EXTINF:1.0,\n../private/index1.ts\n#EXT-X-ENDLIST\n`;
  const hostile: [string, () => Buffer][] = [
    ['an HLS playlist behind an ID3 tag', () => Buffer.concat([ID3, Buffer.from(playlist())])],
    ['an HLS playlist behind MPEG-TS sync bytes', () => Buffer.concat([TS_SYNC, Buffer.from(playlist())])],
    [
      'a live playlist that makes ffprobe wait for a reload',
      () =>
        Buffer.concat([
          ID3,
          Buffer.from(`#EXTM3U\n#EXT-X-TARGETDURATION:40\n#EXTINF:40,\n${join(other, 'index0.ts')}\n`),
        ]),
    ],
    [
      'a DASH manifest behind an ID3 tag',
      () =>
        Buffer.concat([
          ID3,
          Buffer.from(
            `<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT4S"><Period><AdaptationSet><Representation id="1" bandwidth="1000" mimeType="video/mp4"><BaseURL>${join(work, 'clip.mp4')}</BaseURL></Representation></AdaptationSet></Period></MPD>`,
          ),
        ]),
    ],
    [
      'a concat list behind MPEG-TS sync bytes',
      () => Buffer.concat([TS_SYNC, Buffer.from(`ffconcat version 1.0\nfile '${join(work, 'clip.mp4')}'\n`)]),
    ],
    [
      'an MP4 box header in front of a playlist',
      () => Buffer.concat([Buffer.from([0, 0, 0, 0x10]), Buffer.from('ftypisom\0\0\0\0'), Buffer.from(playlist())]),
    ],
  ];

  it.each(hostile)('%s: fails with a code, reads no other file, publishes nothing', async (_name, make) => {
    const file = join(work, 'upload.bin');
    writeFileSync(file, make());
    const before = snapshot();
    const started = Date.now();
    const { error, progressed } = await fail(file);
    expect(['not-a-video', 'unreadable', 'no-streams']).toContain(error.code);
    expect(error.message).toBe(PACKAGE_FAILURES[error.code]);
    expect(error.message).not.toMatch(/\//); // no path in what an uploader may see
    expect(progressed).toBe(false); // never transcoded
    expect(Date.now() - started).toBeLessThan(20_000); // not the 40 s a live playlist's reload would take
    expect(snapshot()).toEqual(before);
  });

  it('the same files, unconfined, are what ffprobe would have opened as playlists (the hole this closes)', () => {
    writeFileSync(join(work, 'hls.bin'), hostile[0]![1]());
    expect(
      execFileSync('ffprobe', [
        '-v',
        'error',
        '-show_entries',
        'format=format_name',
        '-of',
        'csv=p=0',
        join(work, 'hls.bin'),
      ])
        .toString()
        .trim(),
    ).toBe('hls');
    expect(sniffContainer(hostile[0]![1]())).toBe('mp3'); // confined, it is read as MP3 only
    expect(sniffContainer(Buffer.from(playlist()))).toBeNull();
  });

  it('an over-long source is refused before transcoding', async () => {
    const { error, progressed } = await fail(join(work, 'clip.mp4'), { ...LIMITS, maxSeconds: 2 });
    expect(error.code).toBe('too-long');
    expect(progressed).toBe(false);
    expect(readdirSync(media).filter((f) => f.startsWith('.package-'))).toEqual([]);
  });

  it('a frame larger than allowed is refused before transcoding', async () => {
    const { error, progressed } = await fail(join(work, 'clip.mp4'), { ...LIMITS, maxWidth: 300 });
    expect(error.code).toBe('frame-too-large');
    expect(progressed).toBe(false);
  });

  it('a job past its wall time is killed and publishes nothing', async () => {
    const before = snapshot();
    const { error } = await fail(join(work, 'clip.mp4'), { ...LIMITS, wallBaseSeconds: 0, wallFactor: 0.01 });
    expect(error.code).toBe('too-slow');
    expect(snapshot()).toEqual(before);
  });

  it('a job whose output grows past its ceiling is killed and publishes nothing', async () => {
    const before = snapshot();
    const { error } = await fail(join(work, 'clip.mp4'), { ...LIMITS, maxOutputBytes: 1000 });
    expect(error.code).toBe('output-too-large');
    expect(snapshot()).toEqual(before);
  });

  it('an AbortSignal stops a job and leaves nothing', async () => {
    const before = snapshot();
    const abort = new AbortController();
    const job = packageVideo(
      join(work, 'clip.mp4'),
      { id: 'stopped', publish: { to: 'local', mediaDir: media }, untrusted: LIMITS },
      { signal: abort.signal, onProgress: () => abort.abort() },
    );
    await expect(job).rejects.toMatchObject({ code: 'aborted' });
    expect(snapshot()).toEqual(before);
  });

  it('a real video from a stranger is packaged and published, read only as its own container', async () => {
    const report = await packageVideo(join(work, 'clip.mp4'), {
      id: 'real',
      publish: { to: 'local', mediaDir: media },
      untrusted: LIMITS,
    });
    expect(report.durationSeconds).toBeGreaterThan(3.5);
    expect(readFileSync(join(media, 'real', 'master.m3u8'), 'utf8')).toMatch(/^#EXTM3U/);
    // An ID in the catalog is never overwritten, even when its files are elsewhere (published to S3).
    writeFileSync(
      join(media, 'catalog.json'),
      JSON.stringify({ videos: [{ id: 'on-s3', title: 'Elsewhere', playlist: 'master.m3u8' }] }),
    );
    await expect(
      packageVideo(join(work, 'clip.mp4'), {
        id: 'on-s3',
        publish: { to: 'local', mediaDir: media },
        untrusted: LIMITS,
      }),
    ).rejects.toMatchObject({ code: 'exists' });
  }, 60_000);
});
