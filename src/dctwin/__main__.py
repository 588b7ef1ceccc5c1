"""The ``dctwin`` program (``python -m dctwin`` and the ``dctwin`` script): the command line, with Ctrl-C handled from
the first import of its modules to the interpreter's shutdown (``dctwin.interrupt``)."""


def main() -> None:
    try:
        from dctwin import interrupt

        interrupt.pass_on_lost_interrupts()
        from dctwin.cli import main as command_line

        command_line()
    except KeyboardInterrupt:  # before the command line's own handler is in place (its modules loading)
        from dctwin.interrupt import exit_interrupted

        exit_interrupted()
    finally:  # the command is over (it always ends with SystemExit): only the interpreter's shutdown follows
        from dctwin.interrupt import clear_unhandled_interrupt, ignore_interrupts

        ignore_interrupts()
        clear_unhandled_interrupt()


if __name__ == "__main__":
    main()
