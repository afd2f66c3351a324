from wpscim.cli import main

main()
