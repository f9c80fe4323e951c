import { defineGatewaySuite } from '../gateway/suite.ts';
import { workerdTarget } from '../helpers/workerd.ts';

// One suite, two runtimes: the same HTTP expectations as on Node, in workerd with R2.
defineGatewaySuite('workerd (Miniflare) with R2', workerdTarget);
