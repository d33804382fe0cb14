"""The bundled example of the README: a small spectral cube as an astronomer would have it.

testdata/example/cube.fits: primary header with the observation, one IMAGE extension SCI holding a
float32 cube (32 channels x 64 x 64) with a Gaussian source, noise and a few NaN pixels, and WCS cards.
"""
import os

import numpy as np
from astropy.io import fits


def generate(outdir):
    rng = np.random.default_rng(20261122)
    nz, ny, nx = 32, 64, 64
    z, y, x = np.mgrid[0:nz, 0:ny, 0:nx]
    line = np.exp(-0.5 * ((z - 15.5) / 3.0) ** 2)
    blob = np.exp(-0.5 * (((x - 40) / 6.0) ** 2 + ((y - 24) / 4.0) ** 2))
    cube = (5.0 * line * blob + rng.normal(0, 0.2, (nz, ny, nx))).astype(np.float32)
    cube[:, 0, :3] = np.nan  # a few blanked pixels
    primary = fits.PrimaryHDU()
    primary.header["TELESCOP"] = "EXAMPLE"
    primary.header["OBJECT"] = "NGC 0000"
    primary.header["OBSERVER"] = "nd test suite"
    sci = fits.ImageHDU(cube, name="SCI")
    h = sci.header
    h["BUNIT"] = "Jy/beam"
    h["CTYPE1"], h["CRPIX1"], h["CRVAL1"], h["CDELT1"] = "RA---SIN", 32.5, 150.0, -1e-4
    h["CTYPE2"], h["CRPIX2"], h["CRVAL2"], h["CDELT2"] = "DEC--SIN", 32.5, 2.0, 1e-4
    h["CTYPE3"], h["CRPIX3"], h["CRVAL3"], h["CDELT3"] = "FREQ", 1.0, 1.420e9, 1e5
    fits.HDUList([primary, sci]).writeto(os.path.join(outdir, "cube.fits"), overwrite=True, checksum=True)
    image(outdir)


def image(outdir):
    """testdata/example/image.fits: a 200 x 240 int16 image stored with BSCALE/BZERO (as many survey
    images are), and image_cutout.npy, what astropy returns for the 100 x 100 cutout [50:150, 70:170]
    (float32 physical values), for the facade's remote-cutout example and its test."""
    rng = np.random.default_rng(20261205)
    ny, nx = 200, 240
    y, x = np.mgrid[0:ny, 0:nx]
    sky = 100.0 + 40.0 * np.exp(-0.5 * (((x - 120) / 15.0) ** 2 + ((y - 100) / 10.0) ** 2))
    sky = sky + rng.normal(0, 2.0, (ny, nx))
    hdu = fits.PrimaryHDU(sky.astype(np.float32))
    hdu.scale("int16", bscale=0.01, bzero=200.0)
    hdu.header["BUNIT"] = "adu"
    hdu.writeto(os.path.join(outdir, "image.fits"), overwrite=True, checksum=True)
    with fits.open(os.path.join(outdir, "image.fits")) as hdul:
        np.save(os.path.join(outdir, "image_cutout.npy"), hdul[0].data[50:150, 70:170])
