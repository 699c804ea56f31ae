"""Contracts between the parts of the program: what both sides of a seam agree on, written once.

Pulumi-free and dependency-free (standard library only), so every side can read them: the components, the
Lambda functions (each package carries `contracts/`), the local stack and the tests.

- `contracts.stack`: tables and their keys, the environment each function reads, the API's routes, limits.
- `contracts.page`: the page's `config.js`, its security headers, content types and cache rules.
"""
