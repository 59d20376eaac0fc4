/**
 * Well-known public example credentials: published in vendors' documentation or SDK samples, so
 * finding one says nothing about a leak. Kept short and sourced; a value here is never reported.
 */

/**
 * Google API keys from firebase/firebase-android-sdk samples and tests, as listed by gitleaks'
 * gcp-api-key allowlist (gitleaks/gitleaks cmd/generate/config/rules/gcp.go, MIT), plus the
 * lower-case alphabet placeholder those samples use.
 */
export const GOOGLE_EXAMPLE_KEYS: ReadonlySet<string> = new Set([
  'AIzaSyabcdefghijklmnopqrstuvwxyz1234567',
  'AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs',
  'AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8agEM',
  'AIzaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU',
  'AIzaSyD3asb-2pEZVqMkmL6M9N6nHZRR_znhrh0',
  'AIzayDNSXIbFmlXbIE6mCzDLQAqITYefhixbX4A',
  'AIzaSyAdOS2zB6NCsk1pCdZ4-P6GBdi_UUPwX7c',
  'AIzaSyASWm6HmTMdYWpgMnjRBjxcQ9CKctWmLd4',
  'AIzaSyANUvH9H9BsUccjsu2pCmEkOPjjaXeDQgY',
  'AIzaSyA5_iVawFQ8ABuTZNUdcwERLJv_a_p4wtM',
  'AIzaSyA4UrcGxgwQFTfaI3no3t7Lt1sjmdnP5sQ',
  'AIzaSyDSb51JiIcB6OJpwwMicseKRhhrOq1cS7g',
  'AIzaSyBF2RrAIm4a0mO64EShQfqfd2AFnzAvvuU',
  'AIzaSyBcE-OOIbhjyR83gm4r2MFCu4MJmprNXsw',
  'AIzaSyB8qGxt4ec15vitgn44duC5ucxaOi4FmqE',
  'AIzaSyA8vmApnrHNFE0bApF4hoZ11srVL_n0nvY',
]);

/**
 * AWS's documentation key pair (docs.aws.amazon.com, "Understanding and getting your AWS
 * credentials"): their heads are matched, since copies change the EXAMPLE/EXAMPLEKEY tails.
 */
const AWS_EXAMPLE_HEADS = ['wJalrXUtnFEMI/K7MDENG', 'AKIAIOSFODNN7'];

/** The token jwt.io shows by default (HS256, "John Doe"): its signature identifies it. */
export const JWT_IO_EXAMPLE_SIGNATURES: ReadonlySet<string> = new Set([
  'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
]);

/**
 * reCAPTCHA's test site key and secret, published for automated tests
 * (developers.google.com/recaptcha/docs/faq): they pass every check and protect nothing.
 */
const RECAPTCHA_TEST_KEYS = new Set([
  '6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI',
  '6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe',
]);

/** A value copied from vendor documentation (AWS's example key pair with any tail, sample keys). */
export function isPublicExample(value: string): boolean {
  return (
    AWS_EXAMPLE_HEADS.some((h) => value.startsWith(h)) ||
    GOOGLE_EXAMPLE_KEYS.has(value) ||
    RECAPTCHA_TEST_KEYS.has(value)
  );
}
