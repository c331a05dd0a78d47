from bansweep.cli import main

main()
