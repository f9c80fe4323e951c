// `hls-gate nginx-config` prints a configuration nginx accepts (nginx -t), for the settings in the environment. The
// CLI's entry point in-process, from the source (the compiled executable is covered by test/cli/).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main.ts';
import { REPO_ROOT } from '../../server/node/load-env.ts';
import { NGINX_TEST_SECRET } from '../helpers/nginx.ts';

const cli = async (args: string[], env: Record<string, string>) => {
  let stdout = '';
  let stderr = '';
  const status = await main(['nginx-config', ...args], {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env,
    now: () => Date.now(),
  });
  return { status, stdout, stderr };
};
const MEDIA = join(REPO_ROOT, 'media');
const SECRET = NGINX_TEST_SECRET;

/** `nginx -t` on the printed server block inside a minimal nginx.conf; returns nginx's verdict. */
function nginxTest(prefix: string, server: string): string {
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `error_log ${prefix}/error.log;\npid ${prefix}/nginx.pid;\nevents {}\nhttp {\n${server}\n}\n`,
  );
  return spawnSync('nginx', ['-t', '-p', prefix, '-c', join(prefix, 'nginx.conf')], { encoding: 'utf8' }).stderr;
}

describe('hls-gate nginx-config', async () => {
  it('prints a configuration for MEDIA_DIR, HOST, PORT and NGINX_PROXY_SECRET that nginx -t accepts', async () => {
    const prefix = mkdtempSync(join(tmpdir(), 'hls-gate-nginx-t-'));
    try {
      const r = await cli(
        [
          '--listen',
          '127.0.0.1:8080',
          '--cache-dir',
          join(prefix, 'cache'),
          '--access-log',
          join(prefix, 'access.log'),
          '--error-log',
          join(prefix, 'error.log'),
        ],
        { MEDIA_DIR: MEDIA, PORT: '9000', HOST: '127.0.0.1', NGINX_PROXY_SECRET: SECRET },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('server 127.0.0.1:9000;');
      expect(r.stdout).toContain(`root ${realpathSync(MEDIA)};`);
      expect(r.stdout).toContain('listen 127.0.0.1:8080;');
      expect(r.stderr).toMatch(/SERVE_VIA_NGINX=true/);
      expect(nginxTest(prefix, r.stdout)).toMatch(/test is successful/);
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  });

  it('sends NGINX_PROXY_SECRET on every request it passes to the gateway, and prints it nowhere else', async () => {
    const r = await cli([], { MEDIA_DIR: MEDIA, NGINX_PROXY_SECRET: SECRET });
    expect(r.status, r.stderr).toBe(0);
    const proxyPasses = r.stdout.match(/proxy_pass /g)!.length;
    expect(proxyPasses).toBe(4); // everything else, the verdict, hls-gate's own answer, whole playlists
    expect(r.stdout.split(`proxy_set_header X-Hls-Gate-Proxy "${SECRET}";`).length - 1).toBe(proxyPasses);
    expect(r.stderr).not.toContain(SECRET);
    expect(r.stderr).toMatch(
      /holds NGINX_PROXY_SECRET: keep the file readable by root only \(--out FILE writes it so\)/,
    );
    // --out writes the same configuration to a file only its owner reads, replacing one that was readable by all.
    const dir = mkdtempSync(join(tmpdir(), 'hls-gate-nginx-out-'));
    try {
      const file = join(dir, 'hls-gate.conf');
      writeFileSync(file, 'old', { mode: 0o644 });
      const written = await cli(['--out', file], { MEDIA_DIR: MEDIA, NGINX_PROXY_SECRET: SECRET });
      expect(written.status, written.stderr).toBe(0);
      expect(written.stdout).toBe('');
      expect(readFileSync(file, 'utf8')).toBe(r.stdout);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readdirSync(dir)).toEqual(['hls-gate.conf']);
      expect(written.stderr).not.toContain(SECRET);
      expect(
        (await cli(['--out', join(dir, 'missing/hls-gate.conf')], { MEDIA_DIR: MEDIA, NGINX_PROXY_SECRET: SECRET }))
          .status,
      ).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Without it, or with one too short, nothing is printed, and the message says how to make one.
    const none = await cli([], { MEDIA_DIR: MEDIA });
    expect(none.status).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr.trim()).toMatch(
      /^hls-gate: SERVE_VIA_NGINX=true needs NGINX_PROXY_SECRET.*openssl rand -hex 32/,
    );
    const short = await cli([], { MEDIA_DIR: MEDIA, NGINX_PROXY_SECRET: 'short-secret-0123' });
    expect(short.status).toBe(2);
    expect(short.stderr).toMatch(/NGINX_PROXY_SECRET must be 32 to 1024 characters/);
    expect(short.stderr).not.toContain('short-secret-0123');
    // A character nginx would read as syntax never reaches the configuration.
    expect((await cli([], { MEDIA_DIR: MEDIA, NGINX_PROXY_SECRET: `${SECRET}"; include /etc/passwd; #` })).status).toBe(
      2,
    );
  });

  it('logs no query string, Referer or cookie: its own access log format, and errors at crit only', async () => {
    const r = await cli([], { MEDIA_DIR: MEDIA, NGINX_PROXY_SECRET: SECRET });
    expect(r.status, r.stderr).toBe(0);
    const format = /^log_format hls_gate (.*);$/m.exec(r.stdout)?.[1];
    expect(format).toBeDefined();
    for (const variable of [
      '$request ',
      '$request"',
      '$request_uri',
      '$args',
      '$arg_',
      '$query_string',
      '$is_args',
      '$http_cookie',
      '$cookie_',
      '$http_referer',
      '$request_body',
    ])
      expect(format, variable).not.toContain(variable);
    expect(r.stdout).toMatch(/^ {2}access_log \/var\/log\/nginx\/access\.log hls_gate;$/m);
    expect(r.stdout).toMatch(/^ {2}error_log \/var\/log\/nginx\/error\.log crit;$/m);
    // Every access_log in the file uses that format (or is off).
    for (const line of r.stdout.match(/^\s*access_log .*$/gm)!) expect(line).toMatch(/ hls_gate;$| off;$/);
    expect(
      (await cli(['--access-log', '/var/log/nginx/hls-gate.log'], { MEDIA_DIR: MEDIA, NGINX_PROXY_SECRET: SECRET }))
        .stdout,
    ).toContain('access_log /var/log/nginx/hls-gate.log hls_gate;');
    expect((await cli(['--access-log', 'off'], { MEDIA_DIR: MEDIA, NGINX_PROXY_SECRET: SECRET })).stdout).toContain(
      'access_log off;',
    );
    expect(
      (await cli(['--access-log', 'relative.log'], { MEDIA_DIR: MEDIA, NGINX_PROXY_SECRET: SECRET })).stderr,
    ).toMatch(/--access-log "relative.log" must be an absolute path/);
    expect(
      (await cli(['--error-log', '/tmp/x; include /etc/passwd'], { MEDIA_DIR: MEDIA, NGINX_PROXY_SECRET: SECRET }))
        .status,
    ).toBe(2);
  });

  it('turns the verdict cache off with VERDICT_CACHE=0, and refuses what nginx would misread', async () => {
    const off = await cli([], { MEDIA_DIR: MEDIA, VERDICT_CACHE: '0', NGINX_PROXY_SECRET: SECRET });
    expect(off.status).toBe(0);
    expect(off.stdout).not.toContain('proxy_cache ');
    expect(
      (await cli(['--listen', '80; include /etc/passwd'], { MEDIA_DIR: MEDIA, NGINX_PROXY_SECRET: SECRET })).status,
    ).toBe(2);
    expect((await cli([], { MEDIA_DIR: '/nonexistent', NGINX_PROXY_SECRET: SECRET })).stderr).toMatch(
      /MEDIA_DIR="\/nonexistent" is not a folder/,
    );
    expect((await cli([], { MEDIA_DIR: MEDIA, PORT: '0', NGINX_PROXY_SECRET: SECRET })).stderr).toMatch(
      /PORT="0" must be the fixed port/,
    );
    expect((await cli(['--help'], {})).stdout).toMatch(/SERVE_VIA_NGINX=true/);
  });
});
