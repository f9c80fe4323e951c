// `hls-gate nginx-config` prints a configuration nginx accepts (nginx -t), for the settings in the environment.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/node/load-env.ts';

const cli = (args: string[], env: Record<string, string>) => spawnSync(process.execPath, [join(REPO_ROOT, 'bin/hls-gate.js'), 'nginx-config', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH!, ...env } });

describe('hls-gate nginx-config', () => {
  it('prints a configuration for MEDIA_DIR, HOST and PORT that nginx -t accepts', () => {
    const prefix = mkdtempSync(join(tmpdir(), 'hls-gate-nginx-t-'));
    try {
      const r = cli(['--listen', '127.0.0.1:8080', '--cache-dir', join(prefix, 'cache')], { MEDIA_DIR: join(REPO_ROOT, 'media'), PORT: '9000', HOST: '127.0.0.1' });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('server 127.0.0.1:9000;');
      expect(r.stdout).toContain(`root ${realpathSync(join(REPO_ROOT, 'media'))};`);
      expect(r.stdout).toContain('listen 127.0.0.1:8080;');
      expect(r.stderr).toMatch(/SERVE_VIA_NGINX=true/);
      writeFileSync(join(prefix, 'nginx.conf'), `error_log ${prefix}/error.log;\npid ${prefix}/nginx.pid;\nevents {}\nhttp {\n${r.stdout}\n}\n`);
      const test = spawnSync('nginx', ['-t', '-p', prefix, '-c', join(prefix, 'nginx.conf')], { encoding: 'utf8' });
      expect(test.stderr).toMatch(/test is successful/);
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  });

  it('turns the verdict cache off with VERDICT_CACHE=0, and refuses what nginx would misread', () => {
    const off = cli([], { MEDIA_DIR: join(REPO_ROOT, 'media'), VERDICT_CACHE: '0' });
    expect(off.status).toBe(0);
    expect(off.stdout).not.toContain('proxy_cache ');
    expect(cli(['--listen', '80; include /etc/passwd'], { MEDIA_DIR: join(REPO_ROOT, 'media') }).status).toBe(2);
    expect(cli([], { MEDIA_DIR: '/nonexistent' }).stderr).toMatch(/MEDIA_DIR="\/nonexistent" is not a folder/);
    expect(cli([], { MEDIA_DIR: join(REPO_ROOT, 'media'), PORT: '0' }).stderr).toMatch(/PORT="0" must be the fixed port/);
    expect(execFileSync(process.execPath, [join(REPO_ROOT, 'bin/hls-gate.js'), 'nginx-config', '--help'], { encoding: 'utf8' })).toMatch(/SERVE_VIA_NGINX=true/);
  });
});
