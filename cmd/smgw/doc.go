// Command smgw is the smart meter gateway: the daemon (smgw run), a
// self-contained demonstration (smgw demo), and the tools that read its
// store while it runs or not (smgw readings, meters, log, status) and check
// its configuration (smgw config check). docs/cli.md is the reference of
// every command, flag and exit code.
package main
