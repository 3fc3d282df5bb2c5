# Commands of the vaxstudy CLI, one module per command; registered in vaxstudy.cli.
