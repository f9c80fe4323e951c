import { defineGatewaySuite } from './suite.ts';
import { inProcess } from '../helpers/targets.ts';

defineGatewaySuite('in-process app.request', inProcess);
