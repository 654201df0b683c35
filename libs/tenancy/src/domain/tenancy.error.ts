import { TollgateError } from '@tollgate/platform/errors';

export type TenancyErrorCode =
  | 'unknown_org'
  | 'org_already_exists'
  | 'unknown_key'
  | 'platform_key_required'
  | 'scope_not_grantable'
  | 'environment_not_allowed'
  /** An organization named a rate card that does not exist. */
  | 'unknown_rate_card';

export class TenancyError extends TollgateError<TenancyErrorCode> {
  /** The one answer for "not yours" and "not there": a caller learns nothing either way. */
  static unknownOrg(orgId: string): TenancyError {
    return new TenancyError('unknown_org', `Organization '${orgId}' was not found.`);
  }

  static unknownRateCard(rateCardId: string): TenancyError {
    return new TenancyError('unknown_rate_card', `Rate card '${rateCardId}' was not found.`, { field: 'rate_card_id' });
  }
}
