from dctwin.cli import main

main()
