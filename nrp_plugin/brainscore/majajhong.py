"""Loading MajajHong2015 exactly as Brain-Score's PLS benchmarks do, with a clear offline message."""
import os

VISUAL_DEGREES = 8
NUMBER_OF_TRIALS = 50

# The files Brain-Score fetches from S3 (bucket brainscore-storage, folder brainio-brainscore) and
# their sha1s, as registered in brainscore_vision/data/majajhong2015; brainio keeps each file at
# $BRAINIO_HOME/<sha1>/<file name> and does not fetch a file that is already there.
FILES = {
    'private': [('assy_dicarlo_MajajHong2015_private.nc', '7a40d16148d6f82939155f0bd976d310857fb156'),
                ('stimulus_hvm-private.csv', '6ff4981722fa05feb73a2bd26bbbba8b50dc29a6'),
                ('stimulus_hvm-private.zip', 'd7b1ca1876dad87e15b0242b4c82c0203ff3cbd3')],
    'public': [('assy_dicarlo_MajajHong2015_public.nc', '13d28ca0ce88ee550b54db3004374ae19096e9b9'),
               ('stimulus_hvm-public.csv', '5ca7a3da00d8e9c694a9cd725df5ba0ad6d735af'),
               ('stimulus_hvm-public.zip', '8aa44e038d7b551efa8077467622f9d48d72e473')],
}


class DataUnavailableError(RuntimeError):
    """MajajHong2015 could not be loaded (no network, or no credentials) and is not cached."""


def brainio_home():
    return os.path.expanduser(os.getenv('BRAINIO_HOME', '~/.brainio'))


def offline_message(access, cause):
    home = brainio_home()
    lines = [f"MajajHong2015.{access} could not be loaded ({cause}).",
             "Place these files by hand (from a machine with access to the Brain-Score S3 bucket "
             "brainscore-storage, folder brainio-brainscore) and run again:"]
    lines += [f"  {os.path.join(home, sha1, name)}" for name, sha1 in FILES[access]]
    lines.append("($BRAINIO_HOME sets the directory; files are checked against the sha1 in their folder name.)")
    lines.append("Without the data, the embedded benchmarks run offline: SyntheticMajajHong2015.V4-nrp, "
                 "SyntheticMajajHong2015.IT-nrp, SyntheticMajajHong2015.V4-pls, SyntheticMajajHong2015.IT-pls.")
    return '\n'.join(lines)


def load_region(region, access, average_repetitions):
    """One region of MajajHong2015 as Brain-Score's ``MajajHong2015.<region>-pls`` loads it.

    Raises
    ------
    DataUnavailableError
        With the files to place and where, when the data cannot be fetched.
    """
    from brainscore_vision.benchmarks.majajhong2015.benchmark import load_assembly
    try:
        return load_assembly(average_repetitions=average_repetitions, region=region, access=access)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as error:  # botocore/network errors arrive as plain or wrapped Exceptions
        cause = ' '.join(str(error).split())[:300]
        raise DataUnavailableError(offline_message(access, cause)) from None
