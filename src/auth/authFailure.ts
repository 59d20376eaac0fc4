/** Why a credential was refused: the `reason` label of auth_failures_total. */
export type AuthFailureReason =
  | 'missing_token'
  | 'malformed_header'
  | 'token_in_query'
  | 'malformed_token'
  | 'algorithm_not_allowed'
  | 'bad_signature'
  | 'unknown_key'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'missing_claim'
  | 'unknown_api_key'
  | 'no_scope'
  | 'keys_unavailable';

/** A refused credential; the message is safe to show the client (it never echoes the token). */
export class AuthFailure extends Error {
  override name = 'AuthFailure';
  constructor(
    readonly reason: AuthFailureReason,
    message: string,
  ) {
    super(message);
  }
}
