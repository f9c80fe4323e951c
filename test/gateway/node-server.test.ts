import { defineGatewaySuite } from './suite.ts';
import { nodeServer } from '../helpers/targets.ts';

defineGatewaySuite('a real Node server on loopback', nodeServer);
