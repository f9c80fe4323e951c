import { CoreError } from '../server/core/index.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, processIo, type Io } from './io.ts';
import { HELP, USAGE } from './help.ts';
import { REPO_ROOT } from '../server/node/load-env.ts';

function version(): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [command, sub, ...rest] = argv;
  try {
    // `hls-gate <command> --help`: that command's options (fetch-segments prints its own, longer help).
    if (
      command !== undefined &&
      command !== 'fetch-segments' &&
      USAGE[command] &&
      argv.slice(1).some((a) => a === '--help' || a === '-h')
    ) {
      io.stdout(USAGE[command]);
      return 0;
    }
    switch (command) {
      case '--version':
      case '-v':
      case 'version':
        io.stdout(`${version()}\n`);
        return 0;
      case 'serve':
        await import('../server/node/main.ts');
        return await new Promise<number>(() => {}); // runs until a signal stops it
      case 'package':
        return await (await import('./package.ts')).packageCommand(argv.slice(1), io);
      case 'live':
        return await (await import('./live.ts')).liveCommand(argv.slice(1), io);
      case 'catalog':
        return await (await import('./catalog.ts')).catalogCommand(argv.slice(1), io);
      case 'cloudfront':
        return await (await import('./cloudfront/index.ts')).cloudfrontCommand(argv.slice(1), io);
      case 'nginx-config':
        return await (await import('./nginx-config.ts')).nginxConfigCommand(argv.slice(1), io);
      case 'revoke':
        return await (await import('./revoke.ts')).revokeCommand(argv.slice(1), io);
      case 'token':
        return await (await import('./token.ts')).tokenCommand(argv.slice(1), io);
      case 'keys':
        if (sub !== 'generate') throw new UsageError('usage: hls-gate keys generate [--type rsa|ecdsa] [--out DIR]');
        return await (await import('./keys.ts')).keysGenerate(rest, io);
      case 'sign':
        if (sub === 'cookies') return await (await import('./sign.ts')).signCookiesCommand(rest, io);
        if (sub === 'url') return await (await import('./sign.ts')).signUrlCommand(rest, io);
        throw new UsageError('usage: hls-gate sign cookies|url ... (hls-gate --help)');
      case 'explain':
        return await (await import('./explain.ts')).explainCommand(argv.slice(1), io);
      case 'fetch-segments':
        return await (await import('./fetch-segments/index.ts')).runFetchSegments(argv.slice(1), io);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout(HELP);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}" (hls-gate --help)`);
    }
  } catch (err) {
    // One line, never a stack trace; CoreError messages never carry key material.
    if (err instanceof UsageError || err instanceof CoreError) {
      io.stderr(`hls-gate: ${err.message}\n`);
      return 2;
    }
    if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`hls-gate: ${err.message}\n`);
      return 2;
    }
    io.stderr(`hls-gate: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}
