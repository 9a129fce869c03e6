"""Standard library only: code both environments import (either environment runs it).

Labels (`labels`), the Redis key schema (`redis_schema`), the session score rule (`scoring`), the
settings reader (`envconfig`), the child-process environment (`childenv`) and the logging style
(`logs`). Nothing here imports a third-party package.
"""
