@echo off
rem Set up the mono-s2s environment on Windows: the conda env "mono-s2s" when conda
rem is on PATH, otherwise a venv in .venv. PyTorch first (CUDA build when nvidia-smi
rem finds a GPU, CPU build otherwise; set TORCH_SPEC to choose), then this package
rem and its dependencies from pyproject.toml, a Jupyter kernel, and a check.
setlocal
cd /d "%~dp0"
set "ENV_NAME=mono-s2s"
set "CPU_INDEX=https://download.pytorch.org/whl/cpu"

where conda >nul 2>nul
if %errorlevel%==0 if not defined MONO_S2S_VENV goto conda

where python >nul 2>nul || (echo setup: error: neither conda nor python on PATH & exit /b 1)
python -c "import sys; sys.exit(sys.version_info < (3, 10))" || (echo setup: error: Python 3.10 or newer required & exit /b 1)
if not exist .venv\Scripts\python.exe python -m venv .venv || exit /b 1
set "PY=%CD%\.venv\Scripts\python.exe"
call :torch || exit /b 1
"%PY%" -m pip install -q -e ".[dev]" || exit /b 1
goto finish

:conda
conda env list | findstr /b /c:"%ENV_NAME% " >nul || conda create -y -q -n %ENV_NAME% python=3.11 pip || exit /b 1
for /f "delims=" %%i in ('conda run -n %ENV_NAME% python -c "import sys; print(sys.executable)"') do set "PY=%%i"
call :torch || exit /b 1
conda env update -q -n %ENV_NAME% -f environment.yml || exit /b 1
goto finish

:torch
"%PY%" -c "import torch" 2>nul && exit /b 0
if defined TORCH_SPEC ("%PY%" -m pip install -q %TORCH_SPEC% & exit /b %errorlevel%)
nvidia-smi -L >nul 2>nul
if %errorlevel%==0 ("%PY%" -m pip install -q torch & exit /b %errorlevel%)
"%PY%" -m pip install -q torch==2.13.0 --extra-index-url %CPU_INDEX% --retries 1
exit /b %errorlevel%

:finish
"%PY%" -m ipykernel install --user --name %ENV_NAME% --display-name "Python (mono-s2s)" >nul 2>nul || echo setup: warning: could not register the Jupyter kernel (the CLI works without it)
"%PY%" -c "import torch, transformers, mono_s2s, papermill, nbformat; print('setup: ok - mono_s2s', mono_s2s.__version__, 'torch', torch.__version__, 'cuda' if torch.cuda.is_available() else 'cpu')" || exit /b 1
"%PY%" -c "from jupyter_client.kernelspec import KernelSpecManager as K; print('setup: Jupyter kernel %ENV_NAME% runs', K().get_kernel_spec('%ENV_NAME%').argv[0])" 2>nul || echo setup: warning: no Jupyter kernel %ENV_NAME%
> .envpython echo %PY%
endlocal
