import GRDB; import AsyncHTTPClient; print("x")
