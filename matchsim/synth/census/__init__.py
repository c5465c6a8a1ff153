"""The synthetic register: families, births, names, addresses, moves, schools and UPNs.

How it is drawn, in one pass of numpy per block:

1. Families get a number of maternities (geometric, mean from ONS), a first birth from the
   births-by-day density over an extended window, and later births after realistic gaps.
   Some maternities are twins or triplets (ONS rates by year).
2. Children born inside the register's window are kept to exact quotas per birth year and
   year group, so births by year, by day and by school cohort follow their sources exactly
   while siblings stay together.
3. Each family gets a naming origin, a surname, an address, and a history of moves; each child
   a sex, forenames, a school and a UPN.

Reproducibility: the population is cut into fixed blocks of ``BLOCK_PUPILS`` whose random
streams are derived from (seed, block index). ``chunk_size`` and ``workers`` only decide how
blocks are scheduled, so they never change the output.

The modules, in the order a run uses them:

- :mod:`~matchsim.synth.census.plan`: what every block shares (calendar, births density,
  names, geography, schools, block sizes and quotas) and the register's size;
- :mod:`~matchsim.synth.census.search`: the guided searchsorted the birth draws use;
- :mod:`~matchsim.synth.census.families`: maternities, the children kept, and moves;
- :mod:`~matchsim.synth.census.blocks`: one block's families and children as numpy columns;
- :mod:`~matchsim.synth.census.upn`: Unique Pupil Numbers and their serial keys;
- :mod:`~matchsim.synth.census.assemble`: a block's rows of the two tables, given the counts
  of the blocks before it, and what a partition starts from;
- :mod:`~matchsim.synth.census.schedule`: the threads that run the blocks, and
  :func:`~matchsim.synth.census.schedule.generate_census_tables`.
"""
