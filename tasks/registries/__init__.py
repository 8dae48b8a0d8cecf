"""Registry adapters: HTTP client with retries and circuit breakers, typed results, ФИО matching, operators.

`tasks.registries.operators` registers `registry.check_passport`, `registry.check_snils`,
`registry.find_policy` and `registries.check_organization`.
"""
