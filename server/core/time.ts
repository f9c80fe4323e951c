import type { TimeInput } from './types.ts';
import { CoreError } from './errors.ts';

// Policies carry integer epoch seconds; a millisecond value gives CloudFront's "Malformed Policy"
// (https://github.com/aws/aws-sdk-js/issues/3407). Values above this bound (year 5138) are taken
// for milliseconds and refused.
const MAX_EPOCH_SECONDS = 1e11;

export function toEpochSeconds(time: TimeInput, what: string): number {
  if (time instanceof Date) {
    const ms = time.getTime();
    if (Number.isNaN(ms)) throw new CoreError('ERR_TIME', `${what} is an invalid Date`);
    // Rounded as @aws-sdk/cloudfront-signer does, so policies match its bytes.
    return Math.round(ms / 1000);
  }
  if (!Number.isInteger(time) || time <= 0) {
    throw new CoreError('ERR_TIME', `${what} must be a Date or whole epoch seconds`);
  }
  if (time >= MAX_EPOCH_SECONDS) {
    throw new CoreError('ERR_TIME', `${what} looks like milliseconds; give epoch seconds`);
  }
  return time;
}
