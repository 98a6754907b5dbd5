import Testing

@testable import PostgresGuard
