import { defineGatewaySuite } from '../gateway/suite.ts';
import { behindNginx } from '../helpers/targets.ts';
import { NGINX_TEST_SECRET } from '../helpers/nginx.ts';

// The gateway proves nothing to nginx; nginx proves itself to the gateway with NGINX_PROXY_SECRET (startNginx puts it
// in the printed configuration).
defineGatewaySuite('nginx in front, hls-gate judging (SERVE_VIA_NGINX)', (extraEnv = {}) =>
  behindNginx({ NGINX_PROXY_SECRET: NGINX_TEST_SECRET, ...extraEnv }),
);
