/** The composition root's exhaustive map of every error code to its HTTP status. */
export const ERROR_STATUS_MAP = 'tollgate:error-status-map';
