from libgate.cli import app

app(prog_name="libgate")
