from wpscim.cli import main

main(prog_name="wpscim")
