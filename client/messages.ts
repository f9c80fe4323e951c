import { DENIALS } from '../server/core/denials.ts';
import type { DenialReason } from '../server/core/types.ts';

// Refusals in words a person understands. API problems carry a `code`; media refusals carry the gateway's
// X-Hls-Gate-Reason header (or CloudFront's XML code when CloudFront itself answered).

export interface Message {
  title: string;
  text: string;
  retry: boolean;
}

/** What to tell the viewer when the access endpoint refused: `code` is the gateway's problem code (GrantRefusal). */
export function accessMessage(status: number, code: string): Message {
  switch (code) {
    case 'not-entitled':
    case 'no-entitlement':
      return {
        title: 'This video is not included in your access',
        text: 'Your account is not entitled to watch this video. Choose another video, or ask the site for access.',
        retry: false,
      };
    case 'token-expired':
    case 'token-missing':
    case 'token-invalid':
    case 'token-claims':
      return {
        title: 'Please sign in again',
        text: 'Your session is no longer valid, so the video server could not check who you are.',
        retry: true,
      };
    case 'demo-off':
      return {
        title: 'This page needs a viewer token from the site',
        text: 'This gateway is not in demo mode: the host application provides the viewer token. Set window.hlsGate = { getToken: () => yourApp.viewerJwt() } before the player script (see the README, "Use it in your app").',
        retry: false,
      };
    case 'revoked':
      return {
        title: 'Access was withdrawn',
        text: 'The site has withdrawn access to this video for your account or this device. Contact the site if you think this is a mistake.',
        retry: false,
      };
    case 'too-many-streams':
      return {
        title: 'Playing on too many devices',
        text: 'Your account is already watching on the maximum number of devices. Stop playback on another device, then try again.',
        retry: true,
      };
    case 'store-unavailable':
      return {
        title: 'The video server is busy',
        text: 'It cannot check your session right now. Try again in a moment.',
        retry: true,
      };
    case 'unknown-video':
      return { title: 'Video not found', text: 'This video does not exist (any more).', retry: false };
    case 'network':
      return { title: 'Cannot reach the video server', text: 'Check your connection, then try again.', retry: true };
    default:
      return { title: 'Access refused', text: `The video server refused access (${status} ${code}).`, retry: true };
  }
}

/** What to tell the viewer when a media request was refused: `reason` is its X-Hls-Gate-Reason (null: none). */
export function mediaMessage(status: number, reason: string | null): Message {
  if (status === 0)
    return {
      title: 'Cannot load the video',
      text: 'The media server did not answer or the browser blocked the request (CORS). Check the connection and ALLOWED_ORIGINS.',
      retry: true,
    };
  switch (reason) {
    case 'no-credentials':
      return {
        title: 'The access cookie did not reach the media server',
        text: 'The browser did not send the grant. When the page and the media are on different hosts, both must sit under one parent domain (COOKIE_DOMAIN), the media must be https for Secure cookies, and ALLOWED_ORIGINS must list this page.',
        retry: true,
      };
    case 'expired':
      return { title: 'Your access expired', text: 'The grant ran out and could not be renewed in time.', retry: true };
    case 'ip-mismatch':
      return {
        title: 'Your network address changed',
        text: 'This access was bound to the address you had when it was granted. Reload to get a new grant.',
        retry: true,
      };
    case 'revoked':
      return {
        title: 'Access was withdrawn',
        text: 'The site has withdrawn access to this video for your account or this device.',
        retry: false,
      };
    case 'session-invalid':
      return {
        title: 'This device session is not valid',
        text: 'The session cookie is missing or does not match this grant. Reload the video to start a new session.',
        retry: true,
      };
    case 'resource-mismatch':
      return {
        title: 'This grant is for another video',
        text: 'The access cookie covers a different video. Reload the video to get the right grant.',
        retry: true,
      };
    default: {
      const known = reason && reason in DENIALS ? DENIALS[reason as DenialReason].detail : '';
      return {
        title: 'The media server refused the request',
        text: `${known ? `${known} ` : ''}Refused with status ${status}${reason ? ` (${reason})` : ''}.`,
        retry: true,
      };
    }
  }
}
