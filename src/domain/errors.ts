/**
 * A typed, expected failure raised by services. `code` is the stable SCREAMING_SNAKE string that GraphQL turns into
 * a `UserError` (graphql-api.md); `field` points at the offending input path.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string[],
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export interface UserErrorShape {
  code: string;
  message: string;
  field?: string[];
}

/** Several expected failures at once (e.g. every issue of an invalid TSL document). */
export class DomainErrors extends Error {
  constructor(readonly errors: UserErrorShape[]) {
    super(errors.map((e) => e.message).join('; '));
    this.name = 'DomainErrors';
  }
}
