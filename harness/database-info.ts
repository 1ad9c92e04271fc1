/** A login to a test database server. The passwords are throw-away fixtures of the harness. */
export interface Login {
  user: string;
  password: string;
}

/** How tests reach one database server that the harness started. */
export interface DatabaseServerInfo {
  engine: 'postgres' | 'mysql';
  host: string;
  port: number;
  /** The application database the admin user manages. */
  database: string;
  /** The least-privileged administrator the operator is meant to use. */
  admin: Login;
  /** A superuser, for tests that inspect or reconfigure the server itself. */
  superuser: Login;
  dataDir: string;
  logFile: string;
  pid: number;
  version: string;
}
