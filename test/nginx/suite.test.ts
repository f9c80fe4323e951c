import { defineGatewaySuite } from '../gateway/suite.ts';
import { behindNginx } from '../helpers/targets.ts';

defineGatewaySuite('nginx in front, hls-gate judging (SERVE_VIA_NGINX)', behindNginx);
