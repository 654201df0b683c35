import { TollgateError } from '@tollgate/platform/errors';

export type TenancyErrorCode =
  'unknown_org' | 'org_already_exists' | 'unknown_key' | 'platform_key_required' | 'scope_not_grantable' | 'environment_not_allowed';

export class TenancyError extends TollgateError<TenancyErrorCode> {
  /** The one answer for "not yours" and "not there": a caller learns nothing either way. */
  static unknownOrg(orgId: string): TenancyError {
    return new TenancyError('unknown_org', `Organization '${orgId}' was not found.`);
  }

  /** The caller's key is an organization key, and `what` needs a platform key (keys, organizations, rate cards). */
  static platformKeyRequired(what: string): TenancyError {
    return new TenancyError('platform_key_required', `Only a platform key may ${what}.`);
  }
}
